import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', '.dist*/', 'node_modules/', '.stack/', 'test-results/', 'bench/out/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read settings through ConfigService (validated at start-up).' },
      ],
    },
  },
  {
    // Outside the services, scripts and tests read their own environment.
    files: ['libs/testing/**', 'test/**', 'bench/**', 'tools/**', 'libs/platform/src/config.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
);
