CREATE TABLE accounts (
	id bigint PRIMARY KEY,
	email text NOT NULL,
	name text NOT NULL -- «UTF-8» is fine
);
