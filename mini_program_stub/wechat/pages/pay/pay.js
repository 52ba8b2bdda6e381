import { payPage } from '../../lib/zsb-shared/pages/pay.js';
import { ui } from '../../ui.js';

// Data, lifecycle and handlers live in the shared definition; ui.js adapts it to this container.
Page(payPage(ui));
