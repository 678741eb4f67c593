// Preloaded by bench/hq-restart's baseline (node --import): every CLI sub-command and the daemon, as the CLI loaded them up front.
import '../cli/agent.js';
import '../cli/lab.js';
import '../cli/modem.js';
import '../cli/hq.js';
import '../cli/vehicle.js';
import '../cli/log.js';
import '../cli/site.js';
import '../cli/replay.js';
import '../cli/sms.js';
import '../concentrator/daemon.js';
