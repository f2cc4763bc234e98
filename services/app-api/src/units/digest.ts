// Placeholder: filled in with the digest work.
import { worker } from 'archipelago';

export default worker({});
