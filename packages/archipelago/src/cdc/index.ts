// Change data capture: the relay behind `cdc` units and the typed change topics workers subscribe to.
export { startRelay, type Relay, type RelayOptions, type RelayStatus } from './relay.js';
export { changeTopic, type ChangeOp, type RowChange } from './change-topics.js';
export { relayNames, type RelayNames } from './prepare.js';
