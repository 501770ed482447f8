-- 0005: signed scans. A scan file may hold several forms (split by their QR codes); each is a
-- scan document, matched to a case (or waiting in 待匹配), and each carries per-box evidence:
-- a signature, a seal or a noted reason seen (1), not seen (0) or uncertain (NULL, a person looks).

CREATE TABLE scan_documents (
    id          INTEGER PRIMARY KEY,
    file_id     INTEGER NOT NULL REFERENCES files (id),
    seq         INTEGER NOT NULL,           -- order of the form inside the file
    case_id     TEXT REFERENCES cases (id), -- NULL while unmatched
    form        TEXT,                       -- check_table | site_record | NULL (unknown)
    pages       TEXT NOT NULL,              -- JSON list of 0-based page indices
    qr_case     TEXT,                       -- the case number printed in the QR code, if any
    matched_by  TEXT,                       -- qr | name | text | person | NULL
    hints       TEXT,                       -- JSON: printed text read from the scan (OCR), if any
    created_at  TEXT NOT NULL,
    matched_at  TEXT,
    UNIQUE (file_id, seq)
);
CREATE INDEX scan_documents_case ON scan_documents (case_id);

CREATE TABLE evidence (
    id          INTEGER PRIMARY KEY,
    scan_id     INTEGER NOT NULL REFERENCES scan_documents (id),
    box         TEXT NOT NULL,              -- pipeline.scan box name, e.g. leader_confirmation_signature
    present     INTEGER,                    -- 1 seen, 0 not seen, NULL uncertain
    score       REAL,
    page        INTEGER,
    bbox        TEXT,                       -- JSON [x0, y0, x1, y1] in page pixels
    crop        TEXT,                       -- path of the box crop (PNG) under the data folder, if kept
    UNIQUE (scan_id, box)
);
