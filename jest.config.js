/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.tsx?$': 'ts-jest' },
  // Synthesis of a full app takes seconds on two cores; the default 5 s would flake.
  testTimeout: 60000,
  setupFiles: ['<rootDir>/test/setup/promise-with-resolvers.ts'],
  setupFilesAfterEnv: ['<rootDir>/test/setup/remove-temp-dirs.ts'],
};
