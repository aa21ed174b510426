// @ts-check
// The NestJS starter's configuration (typescript-eslint's type-checked recommendations), with
// Prettier owning the layout (`prettier --check` runs beside it in `npm run lint`).
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      'dist-bench/**',
      '**/node_modules/**',
      'test-artifacts/**',
      'web/src/api/openapi.generated.ts',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  prettier,
  {
    languageOptions: {
      globals: { ...globals.node },
      sourceType: 'module',
      parserOptions: {
        project: ['./tsconfig.test.json', './tsconfig.bench.json', './web/tsconfig.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-floating-promises': 'warn',
      '@typescript-eslint/no-unsafe-argument': 'warn',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  {
    files: ['web/src/**'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // a stand-in for an async function (a mock, a fake provider's handler) keeps its shape: async
    files: ['test/**', 'web/src/**/*.test.{ts,tsx}', 'web/src/test/**'],
    rules: { '@typescript-eslint/require-await': 'off' },
  },
  {
    // the tests read JSON the server answered, typed `any` on purpose: asserting on its fields is the point
    files: ['test/**'],
    rules: {
      // a test keeps a prototype's method to wrap it (a fault, a count) and calls it with its `this`
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
