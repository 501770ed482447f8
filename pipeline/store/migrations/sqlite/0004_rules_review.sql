-- 0004: the bureau's rules. Findings cite their article; cases carry staff decisions (overrides),
-- due dates and the penalty flag; open questions for a person (待审核) are kept with their answers.

ALTER TABLE findings ADD COLUMN article TEXT;

ALTER TABLE cases ADD COLUMN overrides TEXT;          -- JSON: answers and settings staff gave for the case
ALTER TABLE cases ADD COLUMN penalty INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN due_lower_half TEXT;     -- YYYY-MM-DD, 第十一条
ALTER TABLE cases ADD COLUMN due_publish TEXT;        -- YYYY-MM-DD, 第十三条
ALTER TABLE cases ADD COLUMN due_penalty TEXT;        -- YYYY-MM-DD, 第十五条
ALTER TABLE cases ADD COLUMN due_certain INTEGER NOT NULL DEFAULT 1;
ALTER TABLE cases ADD COLUMN findings TEXT;           -- JSON: the latest evaluation's findings

CREATE TABLE questions (
    id          INTEGER PRIMARY KEY,
    case_id     TEXT NOT NULL REFERENCES cases (id),
    key         TEXT NOT NULL,              -- stable per case: code + field (+ subject)
    code        TEXT NOT NULL,              -- pipeline.codes.FindingCode
    field       TEXT,
    prompt      TEXT NOT NULL,              -- the question, in Chinese
    found       TEXT,                       -- what was found
    options     TEXT NOT NULL,              -- JSON list of allowed answers
    answer      TEXT,
    answered_by TEXT,
    answered_at TEXT,
    status      TEXT NOT NULL,              -- open | answered | withdrawn
    created_at  TEXT NOT NULL,
    UNIQUE (case_id, key)
);
CREATE INDEX questions_status ON questions (status);
