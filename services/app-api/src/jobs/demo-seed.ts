// Placeholder: filled in with the digest and seed work.
import { task } from 'archipelago';

export default task(() => {});
