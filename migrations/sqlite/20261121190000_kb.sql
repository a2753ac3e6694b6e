-- Knowledge base: documents, their chunks with embeddings (f32 little-endian), and a keyword
-- index (FTS5) kept in step with the chunks by the application in the same transaction.
CREATE TABLE kb_documents (
    id           BLOB PRIMARY KEY NOT NULL,
    site_id      BLOB NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    title        TEXT NOT NULL,
    kind         TEXT NOT NULL,
    content      TEXT NOT NULL,
    metadata     TEXT NOT NULL,
    status       TEXT NOT NULL,
    error        TEXT,
    chunk_count  INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX kb_documents_site ON kb_documents(site_id, created_at);

CREATE TABLE kb_chunks (
    id           BLOB PRIMARY KEY NOT NULL,
    document_id  BLOB NOT NULL REFERENCES kb_documents(id) ON DELETE CASCADE,
    site_id      BLOB NOT NULL,
    ord          INTEGER NOT NULL,
    text         TEXT NOT NULL,
    embedding    BLOB NOT NULL
);
CREATE INDEX kb_chunks_site ON kb_chunks(site_id);
CREATE INDEX kb_chunks_document ON kb_chunks(document_id);

CREATE VIRTUAL TABLE kb_fts USING fts5(text, chunk_id UNINDEXED, site_id UNINDEXED, tokenize = 'unicode61 remove_diacritics 2');
