// Prints the build's swc configuration: .swcrc plus the path aliases of tsconfig.json, so the
// aliases are written in one place (where the type checker reads them).
import { readFileSync } from 'node:fs';
import { stdout } from 'node:process';
import { fileURLToPath, URL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (file) => JSON.parse(readFileSync(`${root}${file}`, 'utf8'));
const swcrc = read('.swcrc');
const { paths } = read('tsconfig.json').compilerOptions;
stdout.write(JSON.stringify({ ...swcrc, jsc: { ...swcrc.jsc, baseUrl: root, paths } }, null, 2));
