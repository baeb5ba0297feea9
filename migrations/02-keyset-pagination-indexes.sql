-- Phase 1: keyset-pagination indexes for the chat queries.
--
-- history_first_page / history_next_page read one conversation's messages newest first
-- with a (created_at, id) row-comparison cursor; conversation_list reads a user's
-- conversations by last activity. Each index is built CONCURRENTLY (no write lock), so
-- run every statement outside a transaction block; IF NOT EXISTS makes a rerun a no-op
-- (an INVALID index left by a killed build must be dropped and rebuilt first).
CREATE INDEX CONCURRENTLY IF NOT EXISTS messages_conversation_keyset_idx
    ON messages (conversation_id, created_at DESC, id DESC);

CREATE INDEX CONCURRENTLY IF NOT EXISTS conversation_members_user_idx
    ON conversation_members (user_id, conversation_id);

CREATE INDEX CONCURRENTLY IF NOT EXISTS conversations_recent_idx
    ON conversations (last_message_at DESC, id DESC);
