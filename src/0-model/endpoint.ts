/** Where a MySQL-protocol server answers and as whom: an instance's endpoint, the storm's target, the observers' server. */
export interface MysqlEndpoint {
  host: string;
  port: number;
  user: string;
  password: string;
  database?: string;
}
