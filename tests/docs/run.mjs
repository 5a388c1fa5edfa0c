// Runs the client guide's programs one after the other in this one node process, each as a
// module of its own, and marks where each one's output begins. Any error fails the run.
import { pathToFileURL } from "node:url";

for (const file of process.argv.slice(2)) {
  console.log(`=== ${file}`);
  await import(pathToFileURL(file).href);
}
// Every program closes what it opened; exit now rather than wait for idle sockets to time out.
process.exit(0);
