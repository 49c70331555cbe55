/** The `--` flags of the `start` script in `<root>/package.json`, in order. */
export function startFlags(root: string): string[];
