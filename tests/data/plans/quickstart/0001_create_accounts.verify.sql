SELECT 1 FROM pg_tables WHERE tablename = 'accounts';
