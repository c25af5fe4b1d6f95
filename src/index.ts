import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { DEFAULT_CONFIG, IPanelConfig, TokenLensPanel } from './panel';

const PLUGIN_ID = 'jupyterlab-tokenlens:plugin';

export namespace CommandIDs {
  export const togglePanel = 'tokenlens:toggle-panel';
}

/** Settings as the panel wants them, with defaults for anything missing or malformed. */
function readConfig(settings: ISettingRegistry.ISettings): IPanelConfig {
  const tokenizers = settings.get('tokenizers').composite;
  const debounceMs = settings.get('debounceMs').composite;
  const showIds = settings.get('showIds').composite;
  return {
    tokenizers: Array.isArray(tokenizers)
      ? tokenizers.map(String)
      : DEFAULT_CONFIG.tokenizers,
    debounceMs: typeof debounceMs === 'number' ? debounceMs : DEFAULT_CONFIG.debounceMs,
    showIds: typeof showIds === 'boolean' ? showIds : DEFAULT_CONFIG.showIds
  };
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'A Tokens side panel that shows how the active cell tokenizes.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ILayoutRestorer, ISettingRegistry, ICommandPalette, ILabShell],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    restorer: ILayoutRestorer | null,
    settingRegistry: ISettingRegistry | null,
    palette: ICommandPalette | null,
    labShell: ILabShell | null
  ) => {
    const panel = new TokenLensPanel({
      tracker,
      serverSettings: app.serviceManager.serverSettings
    });
    app.shell.add(panel, 'right', { rank: 600 });
    if (restorer) {
      restorer.add(panel, panel.id);
    }

    app.commands.addCommand(CommandIDs.togglePanel, {
      label: 'Show Token Lens panel',
      caption: 'Show how the active cell splits into tokens',
      isToggled: () => panel.isVisible,
      execute: () => {
        if (panel.isVisible && labShell) {
          labShell.collapseRight();
        } else {
          app.shell.activateById(panel.id);
        }
      }
    });
    if (palette) {
      palette.addItem({ command: CommandIDs.togglePanel, category: 'Token Lens' });
    }

    if (settingRegistry) {
      settingRegistry
        .load(PLUGIN_ID)
        .then(settings => {
          panel.configure(readConfig(settings));
          settings.changed.connect(() => panel.configure(readConfig(settings)));
          // Choices made in the panel become the user's settings.
          panel.configChanged.connect((_, change) => {
            for (const [key, value] of Object.entries(change)) {
              settings.set(key, value as any).catch(reason => {
                console.warn(`tokenlens: could not save setting ${key}`, reason);
              });
            }
          });
        })
        .catch(reason => {
          console.warn('tokenlens: settings not loaded, using defaults', reason);
        });
    }
  }
};

export default plugin;
