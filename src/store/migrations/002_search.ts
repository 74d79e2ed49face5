import type { Dialect } from '../types.js';

/**
 * Substring search over message text (the log's `q`). PostgreSQL: a trigram GIN index serves
 * ILIKE '%…%'. SQLite: an FTS5 trigram index kept in step by triggers. Both stores match the same
 * way: case-insensitive (Polish letters included), diacritics significant (`zolw` does not find `żółw`).
 */
export function searchIndexes(d: Dialect): string[] {
  if (d === 'postgres') {
    return [
      'CREATE EXTENSION IF NOT EXISTS pg_trgm',
      'CREATE INDEX messages_text_trgm ON messages USING gin (text gin_trgm_ops)',
      'CREATE INDEX dialogs_search_trgm ON dialogs USING gin (search_text gin_trgm_ops)',
    ];
  }
  return [
    `CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='messages', content_rowid='id', tokenize='trigram case_sensitive 0 remove_diacritics 0')`,
    `CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN
       INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text);
     END`,
    `CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages BEGIN
       INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
     END`,
    `CREATE TRIGGER messages_fts_au AFTER UPDATE OF text ON messages BEGIN
       INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
       INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text);
     END`,
  ];
}
