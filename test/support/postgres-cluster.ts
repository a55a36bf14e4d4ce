export {
  missingPostgresPrerequisites,
  POSTGRES_BIN_DIR,
  type PostgresCluster,
  startPostgresCluster,
} from '../../lambdas/local/postgres-cluster.ts';
