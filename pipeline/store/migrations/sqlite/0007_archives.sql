-- 0007: archival packages per case (DA/T 22-2015 档号, BagIt). A case keeps its 件号 and 档号 for
-- every version of its package; each new version is a new row. The 件号 comes from a gap-free counter
-- per (全宗号, 年度, 保管期限, 机构代码), advanced in the transaction that records the package.

CREATE TABLE archive_counters (
    fonds       TEXT NOT NULL,              -- 全宗号
    year        INTEGER NOT NULL,           -- 年度
    retention   TEXT NOT NULL,              -- 保管期限 code (Y, D30, D10)
    org_code    TEXT NOT NULL,              -- 机构(问题)代码
    value       INTEGER NOT NULL,           -- the last 件号 given
    PRIMARY KEY (fonds, year, retention, org_code)
);

CREATE TABLE archives (
    id             INTEGER PRIMARY KEY,
    case_id        TEXT NOT NULL REFERENCES cases (id),
    archive_code   TEXT NOT NULL,           -- 档号, e.g. Z001-WS·2026-D30-ZHK-0001
    fonds          TEXT NOT NULL,
    category       TEXT NOT NULL,           -- 门类代码
    year           INTEGER NOT NULL,
    retention      TEXT NOT NULL,
    org_code       TEXT NOT NULL,
    item_no        INTEGER NOT NULL,        -- 件号
    version        INTEGER NOT NULL,        -- 1, 2, … per case
    package_path   TEXT NOT NULL,           -- the zip, relative to the outbox
    sha256         TEXT NOT NULL,           -- of the zip
    last_event_id  INTEGER NOT NULL,        -- events up to here are reflected in this version
    created_at     TEXT NOT NULL,
    published_at   TEXT,                    -- set once the bag and zip are in the outbox
    UNIQUE (case_id, version)
);
CREATE INDEX archives_case ON archives (case_id, version);
CREATE INDEX archives_code ON archives (archive_code);
