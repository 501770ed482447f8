-- 0009: the conversion queue (roles, issue 14). A worker with role "intake" never runs LibreOffice: it
-- copies the files to convert into a folder of the shared data folder (转换队列/<batch>/) and queues
-- one job per file here; a worker with role "convert" claims queued jobs (FOR UPDATE SKIP LOCKED on
-- PostgreSQL), converts them and writes the result next to the input. A converter's lease runs out
-- when it dies (kill -9, power) and its running jobs are claimed again by another converter.

CREATE TABLE conversions (
    id          INTEGER PRIMARY KEY,
    batch       TEXT NOT NULL,               -- the folder under 转换队列/ with the input and the result
    source      TEXT NOT NULL,               -- the input, relative to the queue folder
    target      TEXT NOT NULL,               -- soffice --convert-to argument (format and export filter)
    infilter    TEXT,                        -- soffice --infilter (import filter), or NULL
    output      TEXT,                        -- the result, relative to the queue folder (state done)
    state       TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed')),
    owner       TEXT,                        -- host:pid:token of the converter running it
    lease_until REAL NOT NULL DEFAULT 0, -- seconds since the epoch; a running job is free again then
    attempts    INTEGER NOT NULL DEFAULT 0,  -- how many times a converter took it
    error       TEXT,                        -- why it failed (Chinese, for staff and IT)
    key         TEXT,                        -- what it is for (e.g. an old-format file's content), to find it again
    created_at  TEXT NOT NULL,
    started_at  TEXT,
    finished_at TEXT
);
CREATE INDEX conversions_state ON conversions (state, id);
CREATE INDEX conversions_batch ON conversions (batch);
CREATE INDEX conversions_key ON conversions (key);
