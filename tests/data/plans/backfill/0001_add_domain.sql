ALTER TABLE app.accounts ADD COLUMN domain text;
