-- 0006: 行政处罚决定书 received for penalty cases (第十五条). One row per decision file; ``case_id`` is
-- NULL while the decision matches no case (it waits in 待补充 and is matched again each pass).
-- ``due_date`` = decision date + days_penalty working days; ``exported_at`` when it went into a 双公示
-- export; ``bundled_at`` when a 综合科 bundle listed it (handed over).

CREATE TABLE penalties (
    id             INTEGER PRIMARY KEY,
    file_id        INTEGER NOT NULL UNIQUE REFERENCES files (id),
    case_id        TEXT REFERENCES cases (id),
    decision_no    TEXT,                    -- 行政处罚决定书文号
    party_name     TEXT,                    -- 当事人 as written
    uscc           TEXT,                    -- 统一社会信用代码 of the party
    fields         TEXT NOT NULL,           -- JSON: the extracted fields (pipeline.extract.penalty_decision)
    decision_date  TEXT,                    -- YYYY-MM-DD
    due_date       TEXT,                    -- YYYY-MM-DD, 第十五条
    due_certain    INTEGER NOT NULL DEFAULT 1,
    exported_at    TEXT,
    bundled_at     TEXT,
    created_at     TEXT NOT NULL
);
CREATE INDEX penalties_case ON penalties (case_id);
CREATE INDEX penalties_decision_date ON penalties (decision_date);
