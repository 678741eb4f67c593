// The store tests' private PostgreSQL: the lab's (lab/postgres.ts), which the lab's two-HQ runs start too.
export { postgresBin, startTestPostgres, type TestPostgres } from '../../lab/postgres.js';
