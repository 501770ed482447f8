-- 0002: imported versions of the bureau's lists (一单两库 and the 抽查任务 draw result).

CREATE TABLE list_versions (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,             -- units | tasks | inspectors | items
    file_id      INTEGER REFERENCES files (id),
    imported_at  TEXT NOT NULL,
    row_count    INTEGER NOT NULL
);
CREATE INDEX list_versions_kind ON list_versions (kind, id);

CREATE TABLE list_rows (
    version_id  INTEGER NOT NULL REFERENCES list_versions (id),
    row_no      INTEGER NOT NULL,           -- row number in the sheet
    data        TEXT NOT NULL,              -- JSON: column name -> value
    PRIMARY KEY (version_id, row_no)
);
