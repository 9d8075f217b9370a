// An otherwise empty script that stays alive, idle, until its standard input
// ends: the floor under the memory of any Deno process that waits on stdio.
await Deno.stdin.readable.pipeTo(new WritableStream());
