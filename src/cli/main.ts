export async function main(argv: string[]): Promise<number> {
  console.log('ree-sentinel', argv.join(' '));
  return 0;
}
