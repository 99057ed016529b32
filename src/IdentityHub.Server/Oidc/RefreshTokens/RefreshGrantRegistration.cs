using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;
using Protection = OpenIddict.Server.OpenIddictServerHandlers.Protection;

namespace IdentityHub.Server.Oidc.RefreshTokens;

/// <summary>
/// Puts <see cref="RefreshGrant"/>'s handlers in place of OpenIddict's for the refresh_token grant: OpenIddict's
/// RestoreTokenEntryProperties, ValidateTokenEntry, ValidateAuthorizationEntry, RedeemTokenEntry and CreateTokenEntry
/// keep running for everything else, filtered off only where this feature's handlers run instead.
/// </summary>
public static class RefreshGrantRegistration
{
    public static IServiceCollection AddRefreshGrantEntries(this IServiceCollection services)
    {
        services.AddSingleton<RefreshTokenQueries>();
        services.AddScoped<RefreshTokenEntries>();
        services.AddSingleton<RequireGrantToken>();
        services.AddSingleton<SkipGrantToken>();
        services.AddSingleton<RequireGrantSignIn>();
        services.AddSingleton<SkipGrantSignIn>();
        services.AddSingleton<RequireGrantRefreshToken>();
        services.AddSingleton<SkipGrantRefreshToken>();
        foreach (var handler in Handlers)
        {
            // What OpenIddictServerBuilder.AddEventHandler registers; the descriptors are added to the options below.
            services.TryAdd(handler.ServiceDescriptor);
        }

        services.PostConfigure<OpenIddictServerOptions>(options =>
        {
            // The redemption's UPDATE accepts only a self-contained refresh token's entry (no reference id).
            if (options.UseReferenceRefreshTokens)
            {
                throw new InvalidOperationException("The refresh grant's token entries (Oidc/RefreshTokens) assume self-contained refresh tokens, not reference tokens.");
            }

            Filter<ValidateTokenContext, SkipGrantToken>(options, typeof(Protection.RestoreTokenEntryProperties));
            Filter<ValidateTokenContext, SkipGrantToken>(options, typeof(Protection.ValidateTokenEntry));
            Filter<ValidateTokenContext, SkipGrantToken>(options, typeof(Protection.ValidateAuthorizationEntry));
            Filter<ProcessSignInContext, SkipGrantSignIn>(options, typeof(OpenIddictServerHandlers.RedeemTokenEntry));
            Filter<GenerateTokenContext, SkipGrantRefreshToken>(options, typeof(Protection.CreateTokenEntry));
            options.Handlers.AddRange(Handlers);
            options.Handlers.Sort((left, right) => left.Order.CompareTo(right.Order));
        });
        return services;
    }

    private static OpenIddictServerHandlerDescriptor[] Handlers =>
        [
            RestoreRefreshTokenEntry.Descriptor, RedeemRefreshTokenEntry.Descriptor,
            CreateRefreshTokenEntry.Descriptor, CompleteRefreshTokenRedemption.Descriptor,
        ];

    /// <summary>OpenIddict's <paramref name="handler"/>, found in the options, replaced by itself with one more filter (also Handlers/AuthorizationCodeFastPath's).</summary>
    internal static void Filter<TContext, TFilter>(OpenIddictServerOptions options, Type handler)
        where TContext : BaseContext
        where TFilter : class, IOpenIddictServerHandlerFilter<TContext>
    {
        var index = options.Handlers.FindIndex(d => d.ServiceDescriptor.ServiceType == handler);
        if (index < 0)
        {
            throw new InvalidOperationException($"OpenIddict's {handler.Name} handler is not registered: it cannot be filtered.");
        }

        // The descriptor in place, with the filters it has already (another feature's too).
        options.Handlers[index] = OpenIddictServerHandlerDescriptor.CreateBuilder<TContext>().Import(options.Handlers[index]).AddFilter<TFilter>().Build();
    }

    public sealed class RequireGrantToken : IOpenIddictServerHandlerFilter<ValidateTokenContext>
    {
        public ValueTask<bool> IsActiveAsync(ValidateTokenContext context) => new(RefreshGrant.IsGrantToken(context));
    }

    public sealed class SkipGrantToken : IOpenIddictServerHandlerFilter<ValidateTokenContext>
    {
        public ValueTask<bool> IsActiveAsync(ValidateTokenContext context) => new(!RefreshGrant.IsGrantToken(context));
    }

    public sealed class RequireGrantSignIn : IOpenIddictServerHandlerFilter<ProcessSignInContext>
    {
        public ValueTask<bool> IsActiveAsync(ProcessSignInContext context) => new(RefreshGrant.IsGrant(context, context.Request));
    }

    public sealed class SkipGrantSignIn : IOpenIddictServerHandlerFilter<ProcessSignInContext>
    {
        public ValueTask<bool> IsActiveAsync(ProcessSignInContext context) => new(!RefreshGrant.IsGrant(context, context.Request));
    }

    public sealed class RequireGrantRefreshToken : IOpenIddictServerHandlerFilter<GenerateTokenContext>
    {
        public ValueTask<bool> IsActiveAsync(GenerateTokenContext context) => new(IsGrantRefreshToken(context));
    }

    public sealed class SkipGrantRefreshToken : IOpenIddictServerHandlerFilter<GenerateTokenContext>
    {
        public ValueTask<bool> IsActiveAsync(GenerateTokenContext context) => new(!IsGrantRefreshToken(context));
    }

    private static bool IsGrantRefreshToken(GenerateTokenContext context) =>
        context.TokenType == TokenTypeIdentifiers.RefreshToken && !context.IsReferenceToken && RefreshGrant.IsGrant(context, context.Request);
}
