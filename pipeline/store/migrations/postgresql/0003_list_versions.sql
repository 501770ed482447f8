-- 0003: list versions carry the date they are in force from, the dropped file's name and its SHA-256.
-- A check is validated against the version in force on its check date (the newest version whose
-- effective_from is on or before that date).

ALTER TABLE list_versions ADD COLUMN effective_from TEXT;   -- YYYY-MM-DD; stated in the sheet, else the import date
ALTER TABLE list_versions ADD COLUMN source_name TEXT;      -- the dropped file's name
ALTER TABLE list_versions ADD COLUMN sha256 TEXT;           -- of the file, as kept in the originals store

UPDATE list_versions SET effective_from = substr(imported_at, 1, 10) WHERE effective_from IS NULL;
UPDATE list_versions
   SET source_name = (SELECT original_name FROM files WHERE files.id = list_versions.file_id),
       sha256 = (SELECT sha256 FROM files WHERE files.id = list_versions.file_id)
 WHERE file_id IS NOT NULL;

CREATE INDEX list_versions_in_force ON list_versions (kind, effective_from, id);
