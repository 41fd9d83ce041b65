// Types for the module files of prom-client that prom-client-core.ts imports: the classes its index exports.
declare module 'prom-client/lib/registry' {
  import { Registry } from 'prom-client';
  export = Registry;
}

declare module 'prom-client/lib/counter' {
  import { Counter } from 'prom-client';
  export = Counter;
}

declare module 'prom-client/lib/histogram' {
  import { Histogram } from 'prom-client';
  export = Histogram;
}
