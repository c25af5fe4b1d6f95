/**
 * The JupyterLab and Notebook 7 plugin: the Tokens side panel, its commands and palette items, the
 * status-bar count, the settings and the layout restorer. Every token is optional because
 * Notebook 7 provides no ILabShell and no status bar.
 */
import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Clipboard, ICommandPalette, Notification } from '@jupyterlab/apputils';
import { IEditorTracker } from '@jupyterlab/fileeditor';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';

import { readConfig } from './config';
import { FocusFollower } from './follow';
import { TokenLensPanel } from './panel';
import { TokenCountStatus } from './statusbar';

const PLUGIN_ID = 'jupyterlab-tokenlens:plugin';

export namespace CommandIDs {
  export const togglePanel = 'tokenlens:toggle-panel';
  export const addTokenizer = 'tokenlens:add-tokenizer';
  export const copyIds = 'tokenlens:copy-ids';
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'A Tokens side panel that shows how the focused cell, file or selection tokenizes.',
  autoStart: true,
  optional: [
    INotebookTracker,
    IEditorTracker,
    ILayoutRestorer,
    ISettingRegistry,
    ICommandPalette,
    ILabShell,
    IStatusBar
  ],
  activate: (
    app: JupyterFrontEnd,
    notebooks: INotebookTracker | null,
    editors: IEditorTracker | null,
    restorer: ILayoutRestorer | null,
    settingRegistry: ISettingRegistry | null,
    palette: ICommandPalette | null,
    labShell: ILabShell | null,
    statusBar: IStatusBar | null
  ) => {
    const serverSettings = app.serviceManager.serverSettings;
    const follower = new FocusFollower({ notebooks, editors, shell: labShell });
    const panel = new TokenLensPanel({ follower, serverSettings });
    app.shell.add(panel, 'right', { rank: 600 });
    if (restorer) {
      restorer.add(panel, panel.id);
    }

    const show = () => app.shell.activateById(panel.id);
    app.commands.addCommand(CommandIDs.togglePanel, {
      label: 'Toggle Token Lens Panel',
      caption: 'Show or hide how the focused text splits into tokens',
      isToggled: () => panel.isVisible,
      execute: () => {
        const shell = labShell ?? collapsible(app.shell);
        if (panel.isVisible && shell) {
          shell.collapseRight();
        } else {
          show();
        }
      }
    });
    app.commands.addCommand(CommandIDs.addTokenizer, {
      label: args =>
        args.name
          ? `Add Tokenizer ${args.name}`
          : 'Add Tokenizer to Token Lens…',
      caption:
        'Show another tokenizer in the Tokens panel (a listed name or a hub id)',
      execute: args => {
        show();
        panel.addTokenizer(
          typeof args.name === 'string' ? args.name : undefined
        );
      }
    });
    app.commands.addCommand(CommandIDs.copyIds, {
      label: 'Copy Token Ids as a Python List',
      caption:
        'Copy the ids the Tokens panel shows (first tokenizer) to the clipboard',
      isEnabled: () => panel.idsAsPython() !== null,
      execute: args => {
        const tokenizer =
          typeof args.tokenizer === 'string' ? args.tokenizer : undefined;
        const text = panel.idsAsPython(tokenizer);
        if (text === null) {
          Notification.warning(
            'Token Lens: no token ids to copy yet; open the Tokens panel on some text.'
          );
          return null;
        }
        Clipboard.copyToSystem(text);
        return text;
      }
    });
    if (palette) {
      for (const command of Object.values(CommandIDs)) {
        palette.addItem({ command, category: 'Token Lens' });
      }
    }

    if (statusBar) {
      const item = new TokenCountStatus({
        panel,
        follower,
        serverSettings,
        onClick: () => void app.commands.execute(CommandIDs.togglePanel)
      });
      statusBar.registerStatusItem('jupyterlab-tokenlens:count', {
        item,
        align: 'left',
        rank: 4,
        isActive: () => true
      });
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
                console.warn(
                  `tokenlens: could not save setting ${key}`,
                  reason
                );
              });
            }
          });
        })
        .catch(reason => {
          console.warn(
            'tokenlens: settings not loaded, using defaults',
            reason
          );
        });
    }
  }
};

/**
 * Notebook 7's shell has no ILabShell token but collapses its right area the same way; other
 * shells without it can only show the panel.
 */
function collapsible(
  shell: JupyterFrontEnd.IShell
): { collapseRight(): void } | null {
  const candidate = shell as Partial<{ collapseRight: () => void }>;
  return typeof candidate.collapseRight === 'function'
    ? { collapseRight: () => candidate.collapseRight!.call(shell) }
    : null;
}

export default plugin;
