import { myPage } from '../../lib/zsb-shared/pages/my.js';
import { ui } from '../../ui.js';

// Data, lifecycle and handlers live in the shared definition; ui.js adapts it to this container.
Page(myPage(ui));
