import { LabIcon } from '@jupyterlab/ui-components';

/** Four token chips in two rows. */
const svgstr = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <rect x="2" y="5" width="9" height="6" rx="1.5"/>
    <rect x="13" y="5" width="9" height="6" rx="1.5" opacity="0.7"/>
    <rect x="2" y="13" width="6" height="6" rx="1.5" opacity="0.7"/>
    <rect x="10" y="13" width="12" height="6" rx="1.5"/>
  </g>
</svg>`;

export const tokenLensIcon = new LabIcon({ name: 'tokenlens:tokens', svgstr });
