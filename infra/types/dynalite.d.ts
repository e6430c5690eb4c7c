declare module 'dynalite' {
  import type { Server } from 'node:http';

  interface DynaliteOptions {
    /** LevelDB directory; in memory when absent. */
    path?: string;
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    maxItemSizeKb?: number;
    /** HTTPS, with `key` and `cert` (dynalite's own self-signed pair when absent). */
    ssl?: boolean;
    key?: string | Buffer;
    cert?: string | Buffer;
  }
  function dynalite(options?: DynaliteOptions): Server;
  export default dynalite;
}
