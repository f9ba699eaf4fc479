SELECT count(*) = 1
  FROM information_schema.columns
 WHERE table_schema = 'public' AND table_name = 'clients' AND column_name = 'status';
