import { guidePage } from '../../lib/zsb-shared/pages/guide.js';
import { ui } from '../../ui.js';

// Data, lifecycle and handlers live in the shared definition; ui.js adapts it to this container.
Page(guidePage(ui));
