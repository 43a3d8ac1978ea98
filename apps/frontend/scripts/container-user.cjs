// Preloaded by the image's command (node --require): the server's first line is the user it runs
// as, `uid=<real> euid=<effective>`, so that the UID the container really ran with can be read
// from its log (the e2e suite's non-root check). One write before the server starts.
process.stdout.write(`uid=${process.getuid()} euid=${process.geteuid()}\n`);
