import { describeApiKeyStoreContract } from '../../ports/api-key-store.contract.js';
import { openSqlite } from './sqlite/database.js';
import { SqliteApiKeyStore } from './sqlite-api-key-store.js';

describeApiKeyStoreContract('SQLite', async () => new SqliteApiKeyStore(openSqlite(':memory:')));
