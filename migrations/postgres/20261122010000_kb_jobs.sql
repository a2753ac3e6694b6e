-- Knowledge-base indexing jobs (`kb.reindex` on the apalis queue): what the API shows while
-- a site's documents are re-chunked and re-embedded in the background.
CREATE TABLE kb_jobs (
    id                UUID PRIMARY KEY NOT NULL,
    site_id           UUID NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    -- JSON array of document ids; NULL means every document of the site.
    document_ids      JSONB,
    status            TEXT NOT NULL,
    documents_total   BIGINT NOT NULL DEFAULT 0,
    documents_done    BIGINT NOT NULL DEFAULT 0,
    documents_failed  BIGINT NOT NULL DEFAULT 0,
    error             TEXT,
    created_at        TIMESTAMPTZ NOT NULL,
    started_at        TIMESTAMPTZ,
    finished_at       TIMESTAMPTZ
);
CREATE INDEX kb_jobs_site ON kb_jobs(site_id, created_at);

-- The job that is (re)indexing a document, and a counter bumped by every write of its content
-- or chunks, so a job never stores chunks of content that changed while it was embedding.
ALTER TABLE kb_documents ADD COLUMN job_id UUID;
ALTER TABLE kb_documents ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;
