-- Keys added after the bulk load (faster than maintaining them row by row).
ALTER TABLE conversation_members ADD PRIMARY KEY (conversation_id, user_id);
ALTER TABLE messages ADD PRIMARY KEY (id);
ALTER TABLE conversation_members
    ADD FOREIGN KEY (conversation_id) REFERENCES conversations (id),
    ADD FOREIGN KEY (user_id) REFERENCES users (id);
ALTER TABLE messages
    ADD FOREIGN KEY (conversation_id) REFERENCES conversations (id),
    ADD FOREIGN KEY (sender_id) REFERENCES users (id);
SELECT setval(pg_get_serial_sequence('messages', 'id'), (SELECT coalesce(max(id), 1) FROM messages));
