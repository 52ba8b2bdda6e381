import { formPage } from '../../lib/zsb-shared/pages/form.js';
import { ui } from '../../ui.js';

// Data, lifecycle and handlers live in the shared definition; ui.js adapts it to this container.
Page(formPage(ui));
