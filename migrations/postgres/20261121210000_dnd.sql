-- Do-not-call lists: numbers never dialled. `scope` is 'global' or the site id (text), so one
-- primary key covers both; `site_id` ties site entries to their site's lifetime.
CREATE TABLE dnd_numbers (
    scope       TEXT NOT NULL,
    site_id     UUID REFERENCES sites(id) ON DELETE CASCADE,
    number      TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (scope, number)
);
CREATE INDEX dnd_numbers_number ON dnd_numbers(number);
