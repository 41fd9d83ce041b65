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
        {
          object: 'process',
          property: 'env',
          message: 'Read settings through a settings class (validated at start-up).',
        },
      ],
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@nestjs/config',
              importNames: ['ConfigService'],
              message:
                'Inject a typed settings class (settingsOf in @keyward/settings) instead of looking settings up by name.',
            },
          ],
        },
      ],
    },
  },
  {
    // The one reader of ConfigService: it builds the typed settings classes.
    files: ['libs/settings/src/**', 'libs/platform/src/bootstrap.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    // Outside the services, scripts and tests read their own environment.
    files: ['libs/testing/**', 'test/**', 'bench/**', 'tools/**', 'libs/platform/src/config.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
);
