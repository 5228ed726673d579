/*
 * chatrec widget: the recommender's chat for any web page, in one file with no build step (docs/widget.md).
 *
 *   <script src="https://chat.example.com/widget.js" async data-title="Film picks" data-lang="en"
 *           data-position="right" data-theme="light"></script>      a launcher button and a chat panel
 *   <chatrec-chat data-title="Film picks" lang="zh"></chatrec-chat>  the same chat inline, no launcher
 *
 * It talks to the JSON API (docs/api.md) of the server this script came from. Everything is drawn inside a Shadow
 * DOM, so the host page's CSS cannot reach in and ours cannot leak out; every text from the server or the user is
 * set with textContent, never parsed as HTML. It makes no request but to that server. The session token is kept in
 * the host page's localStorage (one key per chat server), so the history, which the server keeps, survives a
 * reload. The host page may call window.chatrec.reset() or dispatch a "chatrec:reset" event on window.
 */
(function () {
  "use strict";

  if (window.chatrec && window.chatrec.ready) return;   // the script included twice: keep the first one's widgets

  // -- where the chat server is ----------------------------------------------------------------------------------
  const SCRIPT = document.currentScript ||   // null only in odd loaders; then look for our tag
    document.querySelector('script[src$="/widget.js"], script[src*="/widget.js?"]');
  const SERVER = new URL(SCRIPT ? SCRIPT.src : "/widget.js", location.href).origin;
  const API = SERVER + "/api/v1";
  const TOKEN_KEY = "chatrec:" + SERVER + ":token";   // namespaced: two chat servers on one page keep two users
  const MAX_MESSAGE = 4000;                            // the server's default max_message_chars
  // a logged-in site hands the person's signed id (a JWT its backend made: docs/widget.md); the session it opens is
  // then kept in this page only, never in localStorage, so that another person on the same browser gets their own
  const HOST_TOKEN = (SCRIPT && SCRIPT.getAttribute("data-user-token")) || "";

  // -- every string the widget shows, in each language --------------------------------------------------------------
  const STRINGS = {
    en: {
      title: "Recommendations",
      open: "Open the chat",
      close: "Close the chat",
      hello: "Hi! Tell me something you enjoyed, and I will suggest more like it, and say why.",
      placeholder: "Tell me what you like…",
      message: "Your message",
      send: "Send",
      writing: "Writing…",
      earlier: "Earlier, I suggested:",
      up: "More like this",
      down: "Not for me",
      liked: "Noted: more like this.",
      rejected: "Noted: it will not be recommended again.",
      busy: "Busy right now: here are quick picks.",
      forget: "Forget me",
      forgetAsk: "Delete everything this chat remembers about you?",
      forgetYes: "Yes, forget me",
      forgetNo: "Cancel",
      forgotten: "Done: everything about you is deleted. This is a fresh start.",
      refused: "This website is not allowed to use this chat: the chat server does not list its address.",
      offline: "The chat server cannot be reached right now. Please try again later.",
      rateLimited: "Too many messages: please wait {n} s and try again.",
      badInput: "I could not read that message: please write it another way.",
      tooLong: "The message is too long (at most {n} characters).",
      later: "The chat is busy right now. Please try again in a moment.",
      error: "Sorry, something went wrong. Please try again.",
      state: "Interests",
      stateNow: "Now",
      stateLessOf: "Less of, for now",
      stateNever: "Never",
      stateNamed: "What you named",
      stateEmpty: "Nothing yet: tell me what you like.",
      saidLiked: "liked",
      remove: "Remove “{n}”",
      kinds: {movie: "movie", book: "book", series: "series"},
    },
    zh: {
      title: "推荐",
      open: "打开聊天",
      close: "关闭聊天",
      hello: "你好！告诉我你喜欢的作品，我来推荐类似的，并说明理由。",
      placeholder: "告诉我你喜欢什么…",
      message: "你的消息",
      send: "发送",
      writing: "正在回复…",
      earlier: "之前给你推荐过：",
      up: "多来点这样的",
      down: "不适合我",
      liked: "已记下：多推荐类似的。",
      rejected: "已记下：不会再推荐。",
      busy: "现在有点忙，先给你几个推荐。",
      forget: "删除我的记录",
      forgetAsk: "要删除这个聊天记住的关于你的一切吗？",
      forgetYes: "确定删除",
      forgetNo: "取消",
      forgotten: "已删除：关于你的记录都清空了，可以重新开始。",
      refused: "这个网站无权使用此聊天：聊天服务器没有登记它的地址。",
      offline: "暂时连不上聊天服务器，请稍后再试。",
      rateLimited: "消息太多了：请等 {n} 秒再试。",
      badInput: "这条消息无法处理：请换个说法再试。",
      tooLong: "消息太长了（最多 {n} 个字符）。",
      later: "聊天现在有点忙，请稍后再试。",
      error: "抱歉，出了点问题，请再试一次。",
      state: "兴趣",
      stateNow: "现在",
      stateLessOf: "暂时少推荐",
      stateNever: "不要",
      stateNamed: "你提到的",
      stateEmpty: "还没有记录：告诉我你喜欢什么。",
      saidLiked: "喜欢",
      remove: "移除“{n}”",
      // the kinds of chatrec/catalog/kinds.py (tests/test_state.py holds the two together)
      kinds: {"movie": "电影", "film": "电影", "book": "书", "novel": "小说", "series": "剧集", "tv": "剧集",
              "tv series": "剧集", "show": "节目", "documentary": "纪录片", "anime": "动画", "music": "音乐",
              "album": "专辑", "podcast": "播客", "board game": "桌游", "boardgame": "桌游", "card game": "卡牌游戏",
              "game": "游戏", "video game": "电子游戏", "product": "商品", "course": "课程", "recipe": "菜谱",
              "place": "地方"},
    },
  };

  function langOf(value) {   // "zh", "zh-CN", "zh-Hant" read as Chinese; anything else as English
    return String(value || "").toLowerCase().startsWith("zh") ? "zh" : "en";
  }

  function t(lang, key, n) {
    const text = (STRINGS[lang] || STRINGS.en)[key] || STRINGS.en[key] || key;
    return n === undefined ? text : text.replace("{n}", String(n));
  }

  // -- settings from attributes ----------------------------------------------------------------------------------------
  const THEMES = ["light", "dark", "auto"];

  /* The settings of a widget: its own attributes, then the script tag's, then the defaults. */
  function settingsOf(element, fallback) {
    const attr = (name) => (element && element.getAttribute(name)) || "";
    const lang = attr("lang") || attr("data-lang");
    const theme = attr("data-theme");
    const position = attr("data-position");
    return {
      title: attr("data-title") || (fallback ? fallback.title : ""),
      lang: lang ? langOf(lang) : fallback ? fallback.lang : langOf(navigator.language),
      fixedLang: Boolean(lang) || Boolean(fallback && fallback.fixedLang),   // else the UI follows the replies
      theme: THEMES.includes(theme) ? theme : fallback ? fallback.theme : "light",
      position: position === "left" || position === "right" ? position : fallback ? fallback.position : "right",
      open: attr("data-open") === "true",
      launcher: attr("data-launcher") !== "false",
    };
  }

  // -- the session token -----------------------------------------------------------------------------------------------
  const memory = {};   // when localStorage is unavailable (blocked storage, some sandboxed frames): this page only

  const tokens = {
    get() {
      if (HOST_TOKEN) return memory[TOKEN_KEY] || null;
      try { return localStorage.getItem(TOKEN_KEY); } catch (e) { return memory[TOKEN_KEY] || null; }
    },
    set(token) {
      if (HOST_TOKEN) { memory[TOKEN_KEY] = token; return; }
      try { localStorage.setItem(TOKEN_KEY, token); } catch (e) { memory[TOKEN_KEY] = token; }
    },
    drop() {
      try { localStorage.removeItem(TOKEN_KEY); } catch (e) { /* nothing stored */ }
      delete memory[TOKEN_KEY];
    },
  };

  // -- talking to the server ---------------------------------------------------------------------------------------------
  class ChatError extends Error {
    /* code: the API's error code, or "refused" (this origin is not allowed) or "offline" (no answer at all). */
    constructor(code, message, retryAfter) {
      super(message || code);
      this.code = code;
      this.retryAfter = retryAfter;
    }
  }

  /* Why a fetch failed with no answer. A browser hides a CORS refusal behind the same TypeError as a dead network,
     so ask again without CORS: an opaque answer means the server is up and refuses this page's origin. */
  async function unreachable() {
    try {
      await fetch(API + "/health", {mode: "no-cors", credentials: "omit", cache: "no-store"});
      return "refused";
    } catch (e) {
      return "offline";
    }
  }

  async function errorOf(answer) {
    let code = "http_" + answer.status, message = "";
    try {
      const body = await answer.json();
      code = body.error.code || code;
      message = body.error.message || "";
    } catch (e) { /* not our error format (a proxy's page): keep the status */ }
    return new ChatError(code, message, Number(answer.headers.get("Retry-After")) || undefined);
  }

  /* One API call; errors come back as ChatErrors. Cookies are never sent: the API reads only the bearer token. */
  async function request(method, path, {body, token, stream, signal} = {}) {
    const headers = {};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token) headers["Authorization"] = "Bearer " + token;
    if (stream) headers["Accept"] = "text/event-stream";
    let answer;
    try {
      answer = await fetch(API + path, {method, headers, signal, credentials: "omit", cache: "no-store",
                                        body: body === undefined ? undefined : JSON.stringify(body)});
    } catch (e) {
      if (e && e.name === "AbortError") throw e;
      throw new ChatError(await unreachable());
    }
    if (!answer.ok) throw await errorOf(answer);
    return answer;
  }

  const session = {
    pending: null,

    /* The token, made on first need (one POST /sessions even when several widgets ask at once). */
    async token() {
      const stored = tokens.get();
      if (stored) return stored;
      if (!this.pending) {
        this.pending = request("POST", "/sessions", {body: HOST_TOKEN ? {host_token: HOST_TOKEN} : {}})
          .then((answer) => answer.json())
          .then((body) => { tokens.set(body.token); return body.token; })
          .finally(() => { this.pending = null; });
      }
      return this.pending;
    },

    /* A call as this user. A token the server no longer accepts (its key changed) is replaced once. */
    async call(method, path, options = {}) {
      const token = await this.token();
      try {
        return await request(method, path, {...options, token});
      } catch (e) {
        if (e.code !== "unauthorized" || options.retried) throw e;
        tokens.drop();
        return this.call(method, path, {...options, retried: true});
      }
    },

    /* The past turns, or [] for a browser with no token yet (no session is made just to look). */
    async history() {
      if (!tokens.get()) return [];
      try {
        const answer = await request("GET", "/history", {token: tokens.get()});
        return (await answer.json()).turns || [];
      } catch (e) {
        if (e.code !== "unauthorized") throw e;
        tokens.drop();
        return [];
      }
    },
  };

  /* The server-sent events of a chat answer, one call of on(event, data) each; a plain JSON answer (a proxy that
     dropped the Accept header) counts as its "final" event. */
  async function readEvents(answer, on) {
    if (!(answer.headers.get("Content-Type") || "").includes("text/event-stream")) {
      on("final", await answer.json());
      return;
    }
    const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buffer += value.replace(/\r\n/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {   // one event per blank-line-separated block
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = "message", data = "";
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) event = line.slice(6).trim();
          else if (line.startsWith("data:")) data += line.slice(5).replace(/^ /, "");
        }
        if (data) on(event, JSON.parse(data));
      }
    }
  }

  // -- building DOM without HTML -------------------------------------------------------------------------------------------
  /* el("p", {class: "note", "data-t": "busy"}, child, "text"): attributes are set as attributes, strings become
     text nodes; nothing is ever parsed as HTML. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === false || value === null || value === undefined) continue;
      node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) node.append(child);
    return node;
  }

  function svgIcon(d) {
    const NS = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    const path = document.createElementNS(NS, "path");
    path.setAttribute("d", d);
    svg.append(path);
    return svg;
  }

  const ICON_CHAT = "M4 3h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H10l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z";
  const ICON_CLOSE = "M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12 19 17.6 17.6 19 12 13.4 6.4 19 5 17.6 10.6 12 5 6.4z";

  /* Set every translatable text under root in lang: [data-t] text, [data-t-placeholder], [data-t-label] (aria). */
  function translate(root, lang) {
    for (const node of root.querySelectorAll("[data-t]")) node.textContent = t(lang, node.dataset.t, node.dataset.n);
    for (const node of root.querySelectorAll("[data-t-placeholder]")) node.placeholder = t(lang, node.dataset.tPlaceholder);
    for (const node of root.querySelectorAll("[data-t-label]")) {
      node.setAttribute("aria-label", t(lang, node.dataset.tLabel));
      node.title = t(lang, node.dataset.tLabel);
    }
    for (const node of root.querySelectorAll(".meta")) node.textContent = metaLine(node.dataset, lang);
  }

  function metaLine(rec, lang) {   // "2014 · movie"
    const kind = rec.kind ? (STRINGS[lang].kinds[rec.kind] || rec.kind) : "";
    return [rec.year, kind].filter(Boolean).join(" · ");
  }

  /* What to tell the user about a failed call, in their language. */
  function problemText(error, lang) {
    switch (error.code) {
      case "refused": return t(lang, "refused");
      case "offline": return t(lang, "offline");
      case "rate_limited": return t(lang, "rateLimited", error.retryAfter || 10);
      case "bad_input": return /too long/i.test(error.message) ? t(lang, "tooLong", MAX_MESSAGE) : t(lang, "badInput");
      case "too_large": return t(lang, "tooLong", MAX_MESSAGE);
      case "busy": case "store_unavailable": return t(lang, "later");
      default: return t(lang, "error");
    }
  }

  // -- one chat (in the launcher's panel or inline) --------------------------------------------------------------------------
  const views = new Set();   // every chat on the page: a reset or "forget me" clears them all

  class ChatView {
    /* Builds the chat into `container` (inside a shadow root). `onClose`, when given, adds a close button. */
    constructor(container, settings, onClose) {
      this.settings = settings;
      this.lang = settings.lang;
      this.busy = false;
      this.started = false;
      this.controller = null;
      this.anchor = null;   // the user's message of the reply coming in (see scroll)
      this.build(container, onClose);
      translate(this.root, this.lang);
      views.add(this);
    }

    build(container, onClose) {
      const title = this.settings.title ? el("h2", {class: "title"}, this.settings.title)
                                        : el("h2", {class: "title", "data-t": "title"});
      this.forgetButton = el("button", {type: "button", class: "forget", "data-t": "forget"});
      this.stateButton = el("button", {type: "button", class: "state-toggle", "data-t": "state",
                                       "aria-expanded": "false"});
      const header = el("header", {class: "head"}, title, this.stateButton, this.forgetButton);
      if (onClose) {
        const close = el("button", {type: "button", class: "close", "data-t-label": "close"}, svgIcon(ICON_CLOSE));
        close.addEventListener("click", onClose);
        header.append(close);
      }
      this.yes = el("button", {type: "button", class: "yes", "data-t": "forgetYes"});
      this.no = el("button", {type: "button", class: "no", "data-t": "forgetNo"});
      this.confirm = el("div", {class: "confirm", role: "alertdialog", hidden: true},
                        el("p", {"data-t": "forgetAsk"}), el("div", {class: "row"}, this.yes, this.no));
      this.statePanel = el("section", {class: "state", hidden: true, "aria-live": "polite"});   // the panel
      this.log = el("div", {class: "log", role: "log", "aria-live": "polite"});
      this.notice = el("p", {class: "notice", role: "status", hidden: true});   // "Noted: ...", "Done: ..."
      this.input = el("textarea", {class: "input", rows: 1, maxlength: MAX_MESSAGE,
                                   "data-t-placeholder": "placeholder", "data-t-label": "message"});
      this.sendButton = el("button", {type: "submit", class: "send", "data-t": "send"});
      this.form = el("form", {class: "composer"}, this.input, this.sendButton);
      this.root = el("div", {class: "chatrec theme-" + this.settings.theme, "data-state": "idle", lang: this.lang},
                     header, this.confirm, this.statePanel, this.log, this.notice, this.form);
      container.append(this.root);
      this.listen();
      this.hello();
    }

    listen() {
      this.form.addEventListener("submit", (event) => { event.preventDefault(); this.send(); });
      this.input.addEventListener("keydown", (event) => {
        // Enter sends, Shift+Enter is a new line; never while an input method is composing (Chinese, Japanese, ...)
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
          event.preventDefault();
          this.send();
        }
      });
      this.forgetButton.addEventListener("click", () => this.ask(true));
      this.stateButton.addEventListener("click", () => this.showState(this.statePanel.hidden));
      this.no.addEventListener("click", () => this.ask(false));
      this.yes.addEventListener("click", () => this.forget());
    }

    /* The first time the chat is shown: the history if this browser has a session, else a check that the
       server answers this page (so that a refused origin is said at once, not after the first message). */
    async start() {
      if (this.started) return;
      this.started = true;
      try {
        const turns = await session.history();
        if (turns.length) this.restore(turns);
        else if (!tokens.get()) await request("GET", "/health");
      } catch (e) {
        this.problem(e);
      }
    }

    state(value) { this.root.dataset.state = value; }

    setLang(lang) {
      if (lang === this.lang || !STRINGS[lang]) return;
      this.lang = lang;
      this.root.setAttribute("lang", lang);
      translate(this.root, lang);
      this.refreshState();   // the state's texts come from the server, in the view's language
    }

    hello() { this.log.append(el("p", {class: "hello", "data-t": "hello"})); translate(this.log, this.lang); }

    /* While a reply comes in, keep the user's message at the top, so that the reply's text stays in view above
       its cards; otherwise show the end of the log. */
    scroll() {
      this.log.scrollTop = this.anchor ? this.anchor.offsetTop - 8 : this.log.scrollHeight;
    }

    /* Shows the past turns above anything already in the log: each message, and the items shown in answer
       (those turned down are left out). */
    restore(turns) {
      const past = document.createDocumentFragment();
      for (const turn of turns) {
        past.append(el("div", {class: "msg user"}, turn.message));
        const picks = (turn.recommendations || []).filter((rec) => rec.feedback !== "down");
        if (!picks.length) continue;
        const reply = new Reply(this);
        reply.text.replaceChildren(el("span", {"data-t": "earlier"}));
        reply.recommendations(picks);
        past.append(reply.node);
      }
      const hello = this.log.querySelector(".hello");
      if (hello) hello.remove();
      this.log.prepend(past);
      translate(this.log, this.lang);
      if (!this.busy) {
        this.state("done");
        this.anchor = null;
        this.scroll();
      }
    }

    /* A card: title, year and kind, why it was chosen, thumbs. A thumbs-down takes it off the screen. */
    card(rec) {
      const up = el("button", {type: "button", class: "up", "data-t": "up",
                               "aria-pressed": rec.feedback === "up" ? "true" : "false"});
      const down = el("button", {type: "button", class: "down", "data-t": "down", "aria-pressed": "false"});
      const node = el("article", {class: "card", "data-item-id": rec.item_id},
                      el("h3", {class: "name"}, rec.title),
                      el("p", {class: "meta", "data-year": rec.year || "", "data-kind": rec.kind || ""}),
                      rec.why ? el("p", {class: "why"}, rec.why) : "",
                      el("div", {class: "thumbs"}, up, down));
      up.addEventListener("click", () => this.thumbs(node, rec, true, [up, down]));
      down.addEventListener("click", () => this.thumbs(node, rec, false, [up, down]));
      translate(node, this.lang);
      return node;
    }

    async thumbs(node, rec, liked, buttons) {
      buttons.forEach((b) => { b.disabled = true; });
      try {
        await session.call("POST", "/feedback", {body: {item_id: rec.item_id, liked}});
      } catch (e) {
        buttons.forEach((b) => { b.disabled = false; });
        this.problem(e);
        return;
      }
      if (liked) {
        buttons[0].setAttribute("aria-pressed", "true");
        buttons.forEach((b) => { b.disabled = false; });
      } else {   // every card of that item goes, in this reply and in earlier ones
        for (const card of this.log.querySelectorAll(".card")) if (card.dataset.itemId === rec.item_id) card.remove();
      }
      this.note(liked ? "liked" : "rejected");
      for (const view of views) view.refreshState();
    }

    /* -- the dialogue state (docs/api.md: GET and PATCH /profile), under the header when asked for -- */
    showState(show) {
      this.statePanel.hidden = !show;
      this.stateButton.setAttribute("aria-expanded", String(show));
      if (show) this.refreshState();
    }

    /* The state from the server, when the panel is open (a browser without a session has none to ask for). */
    async refreshState() {
      if (this.statePanel.hidden) return;
      if (!tokens.get()) { this.renderState(null); return; }
      try {
        const answer = await session.call("GET", "/profile?lang=" + this.lang);
        this.renderState(await answer.json());
      } catch (e) {
        this.problem(e);
      }
    }

    /* Headed groups (now, less of for now, never, what you named), each entry with a × that removes it. */
    renderState(profile) {
      const s = profile && profile.state;
      const groups = s ? [
        ["now", "stateNow", [s.now.kind, ...s.now.wants, ...s.now.constraints]],
        ["less_of", "stateLessOf", s.less_of],
        ["never", "stateNever", [...s.never.genres, ...s.never.people, ...s.never.items]],
        ["named", "stateNamed", s.named.filter((e) => e.said !== "disliked")],   // a disliked one is under never
      ].map(([name, key, entries]) => [name, key, entries.filter(Boolean)]).filter((g) => g[2].length) : [];
      this.statePanel.replaceChildren(...(groups.length ? groups.map(([name, key, entries]) =>
        el("div", {class: "state-group", "data-group": name}, el("h3", {"data-t": key}),
           el("div", {class: "chips"}, ...entries.map((entry) => this.chip(entry)))))
        : [el("p", {class: "empty", "data-t": "stateEmpty"})]));
      translate(this.statePanel, this.lang);
    }

    chip(entry) {
      const label = t(this.lang, "remove", entry.text);
      const remove = el("button", {type: "button", class: "chip-x", "aria-label": label, title: label}, "×");
      remove.addEventListener("click", () => this.removeEntry(entry, remove));
      const said = entry.said === "liked" ? el("span", {class: "said", "data-t": "saidLiked"}) : "";
      return el("span", {class: "chip", "data-field": entry.field}, entry.text, said, remove);
    }

    /* PATCH /profile with the entry's own field and value; an entry already gone (another tab) just refreshes. */
    async removeEntry(entry, button) {
      button.disabled = true;
      try {
        const answer = await session.call("PATCH", "/profile?lang=" + this.lang,
                                          {body: {remove: {[entry.field]: [entry.value]}}});
        this.renderState(await answer.json());
        for (const view of views) if (view !== this) view.refreshState();
      } catch (e) {
        if (e.code === "bad_input") this.refreshState();
        else { button.disabled = false; this.problem(e); }
      }
    }

    /* A short note under the log ("Noted: ..."), replacing the previous one; empty `key`: none. */
    note(key) {
      this.notice.hidden = !key;
      if (key) this.notice.dataset.t = key;
      else delete this.notice.dataset.t;
      this.notice.textContent = key ? t(this.lang, key) : "";
    }

    problem(error, reply) {
      if (!(error instanceof ChatError)) console.warn("chatrec:", error);   // a bug of ours, not the server's answer
      const text = problemText(error, this.lang);
      if (reply) reply.node.remove();
      this.log.append(el("p", {class: "msg error", role: "alert", "data-code": error.code}, text));
      this.state("error");
      this.anchor = null;
      this.scroll();
    }

    async send() {
      const message = this.input.value;
      if (this.busy || !message.trim()) return;
      this.busy = true;
      this.sendButton.disabled = true;
      this.input.value = "";
      this.note("");
      this.anchor = el("div", {class: "msg user"}, message);
      this.log.append(this.anchor);
      const reply = new Reply(this);
      this.log.append(reply.node);
      this.state("writing");
      this.scroll();
      this.controller = new AbortController();
      try {
        const answer = await session.call("POST", "/chat", {body: {message}, stream: true,
                                                            signal: this.controller.signal});
        await readEvents(answer, (event, data) => reply.on(event, data));
        if (!reply.done) throw new ChatError("incomplete");
        this.state("done");
        this.refreshState();
      } catch (e) {
        if (e && e.name === "AbortError") return;   // a reset: the view is cleared already
        this.problem(e, reply.empty() ? reply : null);
      } finally {
        this.busy = false;
        this.sendButton.disabled = false;
        this.controller = null;
      }
    }

    ask(show) {
      this.confirm.hidden = !show;
      this.forgetButton.hidden = show;
      if (show) this.yes.focus();
    }

    /* "Forget me": the server deletes everything about this user; then every chat on the page starts afresh. */
    async forget() {
      this.yes.disabled = true;
      try {
        if (tokens.get()) await session.call("DELETE", "/profile");
      } catch (e) {
        this.problem(e);
        return;
      } finally {
        this.yes.disabled = false;
        this.ask(false);
      }
      resetAll();
      this.note("forgotten");
    }

    /* Back to an empty chat (a new session is made with the next message). */
    clear() {
      if (this.controller) this.controller.abort();
      this.busy = false;
      this.sendButton.disabled = false;
      this.ask(false);
      this.log.replaceChildren();
      this.renderState(null);
      this.anchor = null;
      this.note("");
      this.hello();
      this.state("idle");
    }
  }

  /* One answer of the bot: the cards first (event "recommendations"), the text as it streams ("delta"), then the
     whole answer ("final"), whose text is the one to keep. */
  class Reply {
    constructor(view) {
      this.view = view;
      this.done = false;
      this.text = el("p", {class: "text"}, el("span", {class: "writing", "data-t": "writing"}));
      this.cards = el("div", {class: "cards"});
      this.node = el("div", {class: "msg bot"}, this.text, this.cards);
      translate(this.node, view.lang);
    }

    empty() { return !this.cards.children.length && Boolean(this.text.querySelector(".writing")); }

    on(event, data) {
      if (event === "recommendations") this.recommendations(data);
      else if (event === "delta") this.delta(data.text || "");
      else if (event === "final") this.final(data);
      else if (event === "error") throw new ChatError(data.error.code, data.error.message);
    }

    recommendations(list) {
      this.cards.replaceChildren(...list.map((rec) => this.view.card(rec)));
      this.view.scroll();
    }

    delta(text) {
      if (this.text.querySelector(".writing")) this.text.replaceChildren();
      this.node.dataset.deltas = String(Number(this.node.dataset.deltas || 0) + 1);   // for tests and debugging
      this.text.append(text);   // a text node: shown as written
      this.view.scroll();
    }

    final(turn) {
      this.done = true;
      this.node.dataset.source = turn.source || "";
      if (!this.view.settings.fixedLang && turn.language) this.view.setLang(turn.language);
      this.text.replaceChildren(turn.reply || "");
      if (!this.cards.children.length && turn.recommendations) this.recommendations(turn.recommendations);
      if (turn.busy) {   // the generator was serving others: the template answered at once
        const note = el("p", {class: "note busy", "data-t": "busy"});
        this.node.insertBefore(note, this.cards);
        translate(this.node, this.view.lang);
      }
      this.view.scroll();
    }
  }

  function resetAll() {
    tokens.drop();
    for (const view of views) view.clear();
  }

  // -- styles (one sheet, shared by every shadow root) -----------------------------------------------------------------------
  /* Sizes are in px, never rem: the host page's root font size must not scale the widget. The host elements
     reset every property (`all: initial !important`, which beats even the page's !important rules on them), and
     only custom properties (--chatrec-*) pass the boundary, by design. */
  const CSS = `
:host { all: initial !important; }
:host(chatrec-chat) { display: block !important; width: var(--chatrec-width, 100%) !important;
  height: var(--chatrec-height, 560px) !important; }
:host([hidden]) { display: none !important; }
[hidden] { display: none !important; }
.chatrec, .launcher {
  --c-accent: var(--chatrec-accent, #2563eb); --c-on-accent: var(--chatrec-accent-text, #ffffff);
  --c-bg: var(--chatrec-bg, #ffffff); --c-text: var(--chatrec-text, #1f2328); --c-muted: var(--chatrec-muted, #59636e);
  --c-surface: var(--chatrec-surface, #f3f4f6); --c-border: var(--chatrec-border, #d8dee4);
  --c-radius: var(--chatrec-radius, 12px); --c-danger: #b42318;
  font-family: var(--chatrec-font, system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK SC",
    "PingFang SC", "Microsoft YaHei", sans-serif);
  font-size: 14px; font-weight: 400; font-style: normal; line-height: 1.45; letter-spacing: normal;
  text-transform: none; text-align: left; text-decoration: none; white-space: normal; color: var(--c-text);
  box-sizing: border-box;
}
.theme-dark {
  --c-bg: var(--chatrec-bg, #1b1d22); --c-text: var(--chatrec-text, #e8eaed); --c-muted: var(--chatrec-muted, #a3acb9);
  --c-surface: var(--chatrec-surface, #2a2d34); --c-border: var(--chatrec-border, #3b3f47);
  --c-accent: var(--chatrec-accent, #6ea8fe); --c-on-accent: var(--chatrec-accent-text, #0b1220); --c-danger: #ff8a80;
}
@media (prefers-color-scheme: dark) {
  .theme-auto {
    --c-bg: var(--chatrec-bg, #1b1d22); --c-text: var(--chatrec-text, #e8eaed); --c-muted: var(--chatrec-muted, #a3acb9);
    --c-surface: var(--chatrec-surface, #2a2d34); --c-border: var(--chatrec-border, #3b3f47);
    --c-accent: var(--chatrec-accent, #6ea8fe); --c-on-accent: var(--chatrec-accent-text, #0b1220); --c-danger: #ff8a80;
  }
}
*, *::before, *::after { box-sizing: border-box; }
button, textarea { font: inherit; color: inherit; letter-spacing: inherit; margin: 0; }
button { cursor: pointer; border: 1px solid var(--c-border); background: var(--c-bg); border-radius: 8px;
  padding: 5px 10px; line-height: 1.3; }
button:disabled { opacity: .55; cursor: default; }
button:focus-visible, textarea:focus-visible { outline: 2px solid var(--c-accent); outline-offset: 1px; }
svg { width: 20px; height: 20px; fill: currentColor; display: block; }
h2, h3, p { margin: 0; font: inherit; }

.chatrec { display: flex; flex-direction: column; width: 100%; height: 100%; background: var(--c-bg);
  border: 1px solid var(--c-border); border-radius: var(--c-radius); overflow: hidden; }
.head { display: flex; align-items: center; gap: 8px; padding: 10px 12px; border-bottom: 1px solid var(--c-border); }
.title { flex: 1; font-size: 16px; font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.forget, .state-toggle { font-size: 12px; color: var(--c-muted); white-space: nowrap; }
.state-toggle[aria-expanded="true"] { color: var(--c-text); border-color: var(--c-accent); }
.state { flex: none; max-height: 40%; overflow-y: auto; padding: 8px 12px; background: var(--c-surface);
  border-bottom: 1px solid var(--c-border); overscroll-behavior: contain; }
.state-group + .state-group { margin-top: 6px; }
.state h3 { font-size: 12px; font-weight: 600; color: var(--c-muted); margin-bottom: 3px; }
.state .empty { font-size: 13px; color: var(--c-muted); }
.chips { display: flex; flex-wrap: wrap; gap: 4px; }
.chip { display: inline-flex; align-items: center; max-width: 100%; padding: 1px 2px 1px 8px; font-size: 13px;
  border: 1px solid var(--c-border); border-radius: 10px; background: var(--c-bg); overflow-wrap: anywhere; }
.chip .said { margin-left: 4px; font-size: 11px; color: var(--c-muted); }
.chip-x { flex: none; border: 0; background: transparent; padding: 0 6px; margin-left: 2px; border-radius: 8px;
  font-size: 14px; line-height: 1.3; color: var(--c-muted); }
.chip-x:hover { color: var(--c-text); background: var(--c-surface); }
.close { border: 0; background: transparent; padding: 4px; color: var(--c-muted); }
.confirm { padding: 10px 12px; background: var(--c-surface); border-bottom: 1px solid var(--c-border); }
.confirm .row { display: flex; gap: 8px; margin-top: 8px; }
.confirm .yes { background: var(--c-danger); border-color: var(--c-danger); color: #fff; }
.log { position: relative; flex: 1; min-height: 0; overflow-y: auto; padding: 12px; display: flex; flex-direction: column; gap: 10px;
  overscroll-behavior: contain; }
.hello { color: var(--c-muted); }
.msg { max-width: 92%; padding: 8px 11px; border-radius: var(--c-radius); white-space: pre-wrap;
  overflow-wrap: anywhere; }
.msg.user { align-self: flex-end; background: var(--c-accent); color: var(--c-on-accent); }
.msg.bot { align-self: stretch; max-width: none; background: var(--c-surface); }
.msg.error { align-self: stretch; max-width: none; border: 1px solid var(--c-danger); color: var(--c-danger); }
.writing { color: var(--c-muted); font-style: italic; }
.note { margin-top: 6px; font-size: 12px; color: var(--c-muted); }
.notice { padding: 6px 12px; font-size: 12px; color: var(--c-muted); border-top: 1px solid var(--c-border); }
.cards { display: flex; flex-direction: column; gap: 8px; margin-top: 8px; white-space: normal; }
.cards:empty { display: none; }
.card { background: var(--c-bg); border: 1px solid var(--c-border); border-radius: 10px; padding: 8px 10px; }
.name { font-size: 15px; font-weight: 600; }
.meta { font-size: 12px; color: var(--c-muted); }
.meta:empty { display: none; }
.why { font-size: 13px; margin-top: 4px; }
.thumbs { display: flex; gap: 6px; margin-top: 6px; flex-wrap: wrap; }
.thumbs button { font-size: 12px; }
.thumbs .up[aria-pressed="true"] { background: var(--c-accent); border-color: var(--c-accent); color: var(--c-on-accent); }
.composer { display: flex; gap: 8px; padding: 10px 12px; border-top: 1px solid var(--c-border); }
.input { flex: 1; resize: none; min-height: 38px; max-height: 120px; padding: 8px 10px; border-radius: 8px;
  border: 1px solid var(--c-border); background: var(--c-bg); line-height: 1.4; }
.input::placeholder { color: var(--c-muted); opacity: 1; }
.send { background: var(--c-accent); border-color: var(--c-accent); color: var(--c-on-accent); font-weight: 600;
  padding: 0 14px; }

.launcher { position: fixed; bottom: 20px; z-index: var(--chatrec-z, 2147483000); width: 56px; height: 56px;
  padding: 0; border: 0; border-radius: 50%; background: var(--c-accent); color: var(--c-on-accent);
  display: flex; align-items: center; justify-content: center; box-shadow: 0 4px 14px rgba(0, 0, 0, .25); }
.launcher svg { width: 26px; height: 26px; }
.popup { position: fixed; bottom: 88px; z-index: var(--chatrec-z, 2147483000); width: var(--chatrec-width, 380px);
  max-width: calc(100vw - 32px); height: var(--chatrec-height, 600px); max-height: calc(100vh - 108px);
  box-shadow: 0 10px 40px rgba(0, 0, 0, .25); border-radius: var(--chatrec-radius, 12px); }
.right { right: 20px; }
.left { left: 20px; }
@media (max-width: 480px) {   /* a phone: the open panel takes the whole screen */
  .popup { inset: 0; width: 100%; max-width: none; height: 100%; max-height: none; border-radius: 0; }
  .popup .chatrec { border-radius: 0; border: 0; }
  .launcher.open { display: none; }
  .input { font-size: 16px; }   /* a smaller font makes phones zoom the page on focus */
}
`;

  let sheet = null;

  function addStyles(root) {
    if (root.adoptedStyleSheets !== undefined && "replaceSync" in CSSStyleSheet.prototype) {
      // a constructed sheet: shared by every widget, and not blocked by a host page's CSP on inline <style>
      if (!sheet) { sheet = new CSSStyleSheet(); sheet.replaceSync(CSS); }
      root.adoptedStyleSheets = [sheet];
    } else {
      root.append(el("style", {}, CSS));
    }
  }

  // -- the launcher (from the script tag) and the inline element ----------------------------------------------------------------
  const scriptSettings = settingsOf(SCRIPT, null);
  let launcher = null;

  function mountLauncher(settings) {
    const host = document.createElement("chatrec-widget");
    const root = host.attachShadow({mode: "open"});
    addStyles(root);
    const button = el("button", {type: "button", class: "launcher " + settings.position,
                                 "aria-expanded": "false", "data-t-label": "open"}, svgIcon(ICON_CHAT));
    const popup = el("div", {class: "popup " + settings.position, hidden: true});
    const toggle = (open) => {
      popup.hidden = !open;
      button.classList.toggle("open", open);
      button.setAttribute("aria-expanded", String(open));
      if (open) { view.start(); view.input.focus(); } else button.focus();
    };
    const view = new ChatView(popup, settings, () => toggle(false));
    button.classList.add("theme-" + settings.theme);
    button.addEventListener("click", () => toggle(popup.hidden));
    root.append(button, popup);
    translate(root, settings.lang);
    document.body.append(host);
    if (settings.open) toggle(true);
    return {host, view, toggle};
  }

  class ChatrecChat extends HTMLElement {
    connectedCallback() {
      if (this.view) return;   // moved in the page: keep the chat as it is
      const root = this.shadowRoot || this.attachShadow({mode: "open"});
      addStyles(root);
      this.view = new ChatView(root, settingsOf(this, scriptSettings), null);
      this.view.start();
    }

    reset() { resetAll(); }
  }

  function mount() {
    if (!customElements.get("chatrec-chat")) customElements.define("chatrec-chat", ChatrecChat);
    if (scriptSettings.launcher) launcher = mountLauncher(scriptSettings);
    window.dispatchEvent(new CustomEvent("chatrec:ready"));
  }

  // -- what the host page may call ---------------------------------------------------------------------------------------------------
  window.chatrec = {
    ready: true,
    server: SERVER,
    /* Forget this browser's session here (the next message starts a new user) and clear every chat on the page;
       with {forget: true} the server deletes the user's data first, as "forget me" does. */
    async reset(options) {
      if (options && options.forget && tokens.get()) {
        try { await session.call("DELETE", "/profile"); } catch (e) { /* still start afresh here */ }
      }
      resetAll();
    },
    open() { if (launcher) launcher.toggle(true); },
    close() { if (launcher) launcher.toggle(false); },
  };
  window.addEventListener("chatrec:reset", (event) => window.chatrec.reset(event.detail || undefined));

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
