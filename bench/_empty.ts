// Deliberately empty: `deno run` of this file is the floor under every
// command the `cli` and `hook` groups time.
