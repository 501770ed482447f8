-- 0001: received files, cases, extracted fields, findings, outputs and the append-only event log.

CREATE TABLE cases (
    id          TEXT PRIMARY KEY,           -- e.g. SS-2026-00001
    unit_name   TEXT,                       -- 被抽查单位 as written
    unit_key    TEXT,                       -- normalised name for matching
    check_date  TEXT,                       -- YYYY-MM-DD of the check start
    status      TEXT NOT NULL,              -- pipeline.codes.CaseStatus
    record      TEXT,                       -- JSON: latest extracted fields of the check table
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX cases_unit_date ON cases (unit_key, check_date);

CREATE TABLE files (
    id            INTEGER PRIMARY KEY,
    sha256        TEXT NOT NULL,
    original_name TEXT NOT NULL,
    inbox_path    TEXT NOT NULL,            -- path relative to the inbox at intake
    size          INTEGER NOT NULL,
    mtime_ns      INTEGER NOT NULL,
    received_at   TEXT NOT NULL,
    kind          TEXT,                     -- content kind (docx, pdf, ...)
    form          TEXT,                     -- check_table, ...
    status        TEXT NOT NULL,            -- pipeline.codes.FileStatus
    case_id       TEXT REFERENCES cases (id),
    duplicate_of  INTEGER REFERENCES files (id),
    message       TEXT
);
CREATE INDEX files_sha256 ON files (sha256);

CREATE TABLE fields (
    id          INTEGER PRIMARY KEY,
    file_id     INTEGER NOT NULL REFERENCES files (id),
    case_id     TEXT REFERENCES cases (id),
    name        TEXT NOT NULL,
    value       TEXT,                       -- JSON
    location    TEXT,                       -- provenance inside the file
    confidence  REAL
);
CREATE INDEX fields_file ON fields (file_id);

CREATE TABLE findings (
    id          INTEGER PRIMARY KEY,
    file_id     INTEGER REFERENCES files (id),
    case_id     TEXT REFERENCES cases (id),
    code        TEXT NOT NULL,              -- pipeline.codes.FindingCode
    severity    TEXT NOT NULL,              -- error | warning
    field       TEXT,
    message     TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX findings_case ON findings (case_id);

CREATE TABLE outputs (
    id          INTEGER PRIMARY KEY,
    case_id     TEXT REFERENCES cases (id),
    file_id     INTEGER REFERENCES files (id),
    kind        TEXT NOT NULL,              -- public_form_docx, rejection_note, ...
    path        TEXT NOT NULL,              -- relative to the outbox
    sha256      TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,              -- pipeline, a user name, ...
    entity      TEXT NOT NULL,              -- file | case
    entity_id   TEXT NOT NULL,
    action      TEXT NOT NULL,
    detail      TEXT                        -- JSON
);
CREATE INDEX events_entity ON events (entity, entity_id);

CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

CREATE TABLE counters (
    name   TEXT PRIMARY KEY,
    value  INTEGER NOT NULL
);
