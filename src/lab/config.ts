/**
 * The panel's settings (schema/plugin.json) as the panel wants them: typed, with defaults for
 * anything missing or malformed; and which of them the token view's own toolbar switches.
 */
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { ColorBy, CompareLayout } from '../render/types';
import { ITokensState } from '../widgets/tokens/view';

/** What the settings (or their defaults) say. */
export interface IPanelConfig {
  tokenizers: string[];
  debounceMs: number;
  showIds: boolean;
  showWhitespace: boolean;
  colorBy: ColorBy;
  layout: CompareLayout;
  maxChars: number;
  addSpecialTokens: boolean;
}

export const DEFAULT_CONFIG: IPanelConfig = {
  tokenizers: ['gpt2'],
  debounceMs: 150,
  showIds: true,
  showWhitespace: true,
  colorBy: 'id',
  layout: 'aligned',
  maxChars: 1_000_000,
  addSpecialTokens: true
};

/** Settings as the panel wants them, with defaults for anything missing or malformed. */
export function readConfig(settings: ISettingRegistry.ISettings): IPanelConfig {
  const get = (key: string) => settings.get(key).composite;
  const tokenizers = get('tokenizers');
  const debounceMs = get('debounceMs');
  const maxChars = get('maxChars');
  const bool = (key: string, fallback: boolean) => {
    const v = get(key);
    return typeof v === 'boolean' ? v : fallback;
  };
  return {
    tokenizers: Array.isArray(tokenizers)
      ? tokenizers.map(String)
      : DEFAULT_CONFIG.tokenizers,
    debounceMs:
      typeof debounceMs === 'number' ? debounceMs : DEFAULT_CONFIG.debounceMs,
    showIds: bool('showIds', DEFAULT_CONFIG.showIds),
    showWhitespace: bool('showWhitespace', DEFAULT_CONFIG.showWhitespace),
    colorBy: get('colorBy') === 'position' ? 'position' : 'id',
    layout: get('layout') === 'stacked' ? 'stacked' : 'aligned',
    maxChars:
      typeof maxChars === 'number' && maxChars > 0
        ? maxChars
        : DEFAULT_CONFIG.maxChars,
    addSpecialTokens: bool('addSpecialTokens', DEFAULT_CONFIG.addSpecialTokens)
  };
}

/** The token view's traits that its toolbar writes, and the settings they are kept in. */
export const VIEW_TRAITS: [keyof IPanelConfig, keyof ITokensState][] = [
  ['showIds', 'show_ids'],
  ['showWhitespace', 'show_whitespace'],
  ['colorBy', 'color_by'],
  ['layout', 'compare_layout'],
  ['addSpecialTokens', 'add_special_tokens']
];

/** The token view's state as the settings say it; the panel's view may toggle special tokens. */
export function viewTraits(config: IPanelConfig): Partial<ITokensState> {
  return {
    show_ids: config.showIds,
    show_whitespace: config.showWhitespace,
    color_by: config.colorBy,
    compare_layout: config.layout,
    add_special_tokens: config.addSpecialTokens,
    can_toggle_special: true
  };
}
