/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.tsx?$': 'ts-jest' },
  // Synthesis of a full app takes seconds on two cores; the default 5 s would flake.
  testTimeout: 60000,
  // `npm run coverage`: what the app, its Lambdas and its tools are made of, not the tests.
  collectCoverageFrom: ['bin/**/*.ts', 'lib/**/*.ts', 'lambda/**/*.ts', 'scripts/**/*.ts'],
  // One temp folder per run, removed at the end (test/setup/global-temp-dir.ts); Jest's own cache stays with the
  // project, not in the machine's temp folder.
  globalSetup: '<rootDir>/test/setup/global-temp-dir.ts',
  globalTeardown: '<rootDir>/test/setup/global-temp-dir-teardown.ts',
  cacheDirectory: '<rootDir>/node_modules/.cache/jest',
  setupFilesAfterEnv: ['<rootDir>/test/setup/remove-temp-dirs.ts'],
};
