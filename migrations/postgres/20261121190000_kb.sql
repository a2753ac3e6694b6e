-- Knowledge base: documents, their chunks with embeddings (f32 little-endian) and a keyword
-- index (full-text, 'simple' configuration: no stemming, fits romanised Hinglish).
CREATE TABLE kb_documents (
    id           UUID PRIMARY KEY NOT NULL,
    site_id      UUID NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    title        TEXT NOT NULL,
    kind         TEXT NOT NULL,
    content      TEXT NOT NULL,
    metadata     JSONB NOT NULL,
    status       TEXT NOT NULL,
    error        TEXT,
    chunk_count  BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX kb_documents_site ON kb_documents(site_id, created_at);

CREATE TABLE kb_chunks (
    id           UUID PRIMARY KEY NOT NULL,
    document_id  UUID NOT NULL REFERENCES kb_documents(id) ON DELETE CASCADE,
    site_id      UUID NOT NULL,
    ord          BIGINT NOT NULL,
    text         TEXT NOT NULL,
    embedding    BYTEA NOT NULL,
    tsv          TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED
);
CREATE INDEX kb_chunks_site ON kb_chunks(site_id);
CREATE INDEX kb_chunks_document ON kb_chunks(document_id);
CREATE INDEX kb_chunks_tsv ON kb_chunks USING GIN (tsv);
