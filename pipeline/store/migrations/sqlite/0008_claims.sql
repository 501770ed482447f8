-- 0008: claims of work by the workers sharing one database (several machines, issue 14). A worker
-- claims an inbox file (key ``inbox:<path>``) and its content (``sha:<sha256>``) before it analyses
-- it; the claim has a lease that the worker's heartbeat extends; a dead worker's claims expire and
-- another worker takes them. A finished file's claims are deleted.

CREATE TABLE claims (
    key         TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,              -- host:pid:token of the worker
    expires_at  REAL NOT NULL,              -- seconds since the epoch; the lease ends then
    claimed_at  TEXT NOT NULL
);
CREATE INDEX claims_owner ON claims (owner);
