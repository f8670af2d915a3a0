/** Runs a tool's code with process.stdout captured (Jest's console does not go there), and returns both. */
export async function stdoutOf<T>(run: () => Promise<T>): Promise<{ result: T; text: string }> {
  const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    const result = await run();
    return { result, text: stdout.mock.calls.map(([text]) => String(text)).join('') };
  } finally {
    stdout.mockRestore();
  }
}
