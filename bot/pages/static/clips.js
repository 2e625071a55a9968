// A finished video or GIF next to its original: one stage and a Before / After toggle. The two
// videos stay at the same moment when toggled (the one shown plays, the other waits), so the
// toggle compares the same frame; GIFs are images and animate by themselves.

const SIDES = ["before", "after"];

function loaded(element) {
  // Resolves once the element has a picture to show (true), or could not load it (false).
  if (element instanceof HTMLImageElement) {
    return element.decode().then(
      () => element.naturalWidth > 0,
      () => false,
    );
  }
  if (element.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA) return Promise.resolve(true);
  return new Promise((resolve) => {
    element.addEventListener("loadeddata", () => resolve(true), { once: true });
    element.addEventListener("error", () => resolve(false), { once: true });
  });
}

export function setupClipView(root) {
  const $ = (id) => root.querySelector(`#${id}`);
  const videos = { before: $("clip-before"), after: $("clip-after") };
  const gifs = { before: $("gif-before"), after: $("gif-after") };
  const buttons = { before: $("show-before"), after: $("show-after") };
  const stage = $("clip-stage");
  const tag = $("clip-tag");
  let media = videos;
  let side = "after";

  function showSide(next) {
    const previous = media[side];
    side = next;
    for (const name of SIDES) {
      media[name].hidden = name !== side;
      buttons[name].setAttribute("aria-pressed", String(name === side));
    }
    tag.textContent = side === "before" ? "Before" : "After";
    if (media !== videos) return;
    const shown = videos[side];
    if (previous !== shown && Number.isFinite(previous.currentTime) && shown.duration) {
      shown.currentTime = Math.min(previous.currentTime, Math.max(0, shown.duration - 0.05));
    }
    for (const name of SIDES) {
      const video = videos[name];
      video.controls = video === shown;
      if (video !== shown) video.pause();
    }
    shown.play().catch(() => undefined); // muted, so allowed; a refusal leaves the controls
  }

  for (const name of SIDES) buttons[name].addEventListener("click", () => showSide(name));

  function clear(elements) {
    for (const element of Object.values(elements)) {
      element.hidden = true;
      if (element instanceof HTMLMediaElement) element.pause();
      element.removeAttribute("src");
      if (element instanceof HTMLMediaElement) element.load();
    }
  }

  return {
    /** Show `job`'s result, with `original` (a URL of the chosen file) or its input_url. */
    async show(job, original) {
      const isGif = job.result_type === "image/gif";
      clear(isGif ? videos : gifs);
      media = isGif ? gifs : videos;
      const before = original ?? job.input_url;
      if (before) media.before.src = before;
      media.after.src = job.result_url;
      if (!isGif && job.poster_url) videos.after.poster = job.poster_url;
      side = "after";
      showSide("after");
      const waits = [loaded(media.after), ...(before ? [loaded(media.before)] : [])];
      const [ready] = await Promise.all(waits);
      const width = isGif ? media.after.naturalWidth : media.after.videoWidth;
      const height = isGif ? media.after.naturalHeight : media.after.videoHeight;
      if (ready && width > 0) stage.style.aspectRatio = `${width} / ${height}`;
      return ready;
    },
    stop() {
      clear(videos);
      clear(gifs);
    },
  };
}
